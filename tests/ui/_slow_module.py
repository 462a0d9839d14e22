"""A module that takes 0.3 s to import (for the cold-start test)."""

import time

time.sleep(0.3)
