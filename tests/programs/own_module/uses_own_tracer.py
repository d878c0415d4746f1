"""A program with its own module named `tracer`: ipctrace's package must not take its place."""

import os

import tracer

print(tracer.helper())
r, w = os.pipe()
os.write(w, b"x")
print(os.read(r, 1))
