"""Offline meta-learning: run the search space over a corpus and build the portfolio."""
