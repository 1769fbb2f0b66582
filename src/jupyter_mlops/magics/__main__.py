"""``python -m jupyter_mlops.magics`` prints the usage of every ``%mlops`` subcommand."""

from jupyter_mlops.magics import usage

if __name__ == "__main__":  # pragma: no cover - run as a module
    print(usage())
