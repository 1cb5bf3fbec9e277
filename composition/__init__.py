"""composition package."""
