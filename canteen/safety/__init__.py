"""The food-safety logs: from procurement to plate (see logs.toml and ../shared/domain)."""
