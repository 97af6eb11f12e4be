"""The write side of the API: every change to the domain goes through these functions."""
