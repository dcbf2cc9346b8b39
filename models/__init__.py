"""Model sources, lock and the build that turns the one into the other (build environment only)."""
