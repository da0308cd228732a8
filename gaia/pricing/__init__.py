"""Pricing: tokens and money. Usage to cost, estimates, explanations, what-if, bills and their formatting."""
