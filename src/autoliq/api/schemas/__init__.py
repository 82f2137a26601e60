"""Wire shapes beside their routes: `schemas/<feature>.py` holds what `routes/<feature>.py` serves."""
