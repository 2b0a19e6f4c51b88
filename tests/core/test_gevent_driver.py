"""The production PostgreSQL driver must yield to other greenlets while it waits for the server.

If it blocked, one slow query would freeze every tablet served by that worker. Checked by order, not time:
in a gevent-patched process a greenlet that only sleeps briefly must finish while another greenlet's query
is still waiting on the server.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
from gevent import monkey; monkey.patch_all()
import sys, gevent, sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
order = []
def slow():
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_sleep(1)"))
    order.append("query done")
def quick():
    gevent.sleep(0.05)
    order.append("other greenlet ran")
gevent.joinall([gevent.spawn(slow), gevent.spawn(quick)], raise_error=True)
engine.dispose()
print(",".join(order))
"""


def test_psycopg_cooperates_with_gevent():
    url = PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    result = subprocess.run([sys.executable, "-c", SCRIPT, url], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "other greenlet ran,query done"
