"""Faithful Python ports of the course notes' IPC examples, one runnable module per C program."""
