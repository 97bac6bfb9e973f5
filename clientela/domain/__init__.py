"""Pure rules and value objects. Nothing here performs I/O or imports a framework."""
