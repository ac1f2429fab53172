"""``python -m dexio`` runs the command line."""

from dexio.cli import main

if __name__ == "__main__":
    main()
