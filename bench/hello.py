"""The bare Flask baseline the benchmark compares shopqr with."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
