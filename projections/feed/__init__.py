"""The reporting feed (I/O): the SQLite reporting database written with sqlite-utils,
the projector that keeps it in step with the log, and charts."""
