"""toolmock package."""
