"""Media: what a file is (probe), the folder's videos (scan), the frames sent (keyframes), the demo clips."""
