"""Reusable Qt views and models: numpy-backed tables, blotter, holdings grid, heatmap, FX exposure."""
