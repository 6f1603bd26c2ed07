"""kiln test fixture: a development-only tool that must never reach an image."""

__version__ = "1.0.0"


def main():
    print(f"kiln-dev-tool {__version__}: development only")
    return 0
