"""Where `faceseal serve` listens: one definition, read by the CLI and by the container's healthcheck."""

import argparse


def add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
