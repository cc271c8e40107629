"""shopqr with one route more, for the benchmark only: the floor of a write.

POST /_bench/write inserts one row and commits, through the same stack as every shopqr request
(extensions, hooks, session, pool). Any request that changes data (add to cart, checkout) does
at least this much; the benchmark compares it with bare hello like the real endpoints."""

from sqlalchemy import text

from shopqr import create_app
from shopqr.extensions import csrf, db

app = create_app()

with app.app_context():
    db.session.execute(text("CREATE TABLE IF NOT EXISTS bench_writes (n INTEGER)"))
    db.session.commit()


@app.post("/_bench/write")
@csrf.exempt
def write() -> str:
    db.session.execute(text("INSERT INTO bench_writes (n) VALUES (1)"))
    db.session.commit()
    return "ok"
