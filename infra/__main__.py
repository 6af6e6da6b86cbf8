"""`pulumi up` runs this file (Pulumi.yaml: `main: infra/`): load config, build, export."""

import sys
from pathlib import Path

# The CLI runs this file by path; make the project root importable as well as the installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.program import main

main()
