"""The flask-service-info console script."""

from importlib import metadata


def main():
    print(f"flask-service {metadata.version('flask-service')}")
    return 0
