"""edgeml serving runtime tests (a package, so its conftest does not take the bare module name `conftest`)."""
