import sys

from mer_fast.cli import main

sys.exit(main())
