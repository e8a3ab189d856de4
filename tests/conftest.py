import sys
from pathlib import Path

# tests/synthetic.py is importable as `synthetic` from every test module.
sys.path.insert(0, str(Path(__file__).parent))
