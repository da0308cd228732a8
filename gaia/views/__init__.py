"""View models for the pages and the CLI: typed rows, chart data and formatted figures."""
