"""Interop check: Salesforce's own Python connector (salesforce-cdp-connector)
against a dc-emulator or a dc-gateway, unchanged except for its login URL.

Environment (set by the Rust test that starts the servers):
  DC_LOGIN_URL        e.g. https://127.0.0.1:9443
  DC_PRIVATE_KEY      path to the connected app's private key (JWT bearer flow)
  DC_CLIENT_ID        consumer key (default emulator-client-id)
  DC_USERNAME         user (default integration_user@yourcompany.com)
  DC_EXPECT_ROWS      rows the multi-batch query must return
  REQUESTS_CA_BUNDLE  the server's certificate, so TLS is verified for real

Exits non-zero, with a message, on any mismatch.
"""

import os
import sys

from salesforcecdpconnector.connection import SalesforceCDPConnection


def main() -> int:
    login_url = os.environ["DC_LOGIN_URL"]
    with open(os.environ["DC_PRIVATE_KEY"], encoding="utf-8") as f:
        private_key = f.read()
    conn = SalesforceCDPConnection(
        login_url,
        username=os.environ.get("DC_USERNAME", "integration_user@yourcompany.com"),
        client_id=os.environ.get("DC_CLIENT_ID", "emulator-client-id"),
        private_key=private_key,
    )
    cur = conn.cursor()

    # The integration guide's Step 10 test query, verbatim.
    cur.execute("SELECT IndividualId, Email FROM UnifiedIndividual LIMIT 1")
    rows = cur.fetchall()
    check(len(rows) == 1, f"guide test query returned {len(rows)} rows")
    check(len(rows[0]) == 2, f"guide test query returned {len(rows[0])} columns")
    names = [d[0] for d in cur.description]
    check(names == ["IndividualId", "Email"], f"description names {names}")

    # A query spanning several V2 batches (the server runs with a small batch size).
    expect = int(os.environ["DC_EXPECT_ROWS"])
    cur.execute(
        "SELECT ssot__Id__c, ssot__FirstName__c, ssot__LastName__c "
        "FROM UnifiedIndividual__dlm ORDER BY ssot__Id__c"
    )
    rows = cur.fetchall()
    check(len(rows) == expect, f"multi-batch fetchall returned {len(rows)} rows, expected {expect}")
    ids = [r[0] for r in rows]
    check(ids == sorted(ids), "rows out of order across batches")
    check(len(set(ids)) == len(ids), "duplicate rows across batches")

    # The guide's 50-row profile read.
    cur.execute("SELECT IndividualId, FirstName, LastName, Email FROM UnifiedIndividual LIMIT 50")
    check(len(cur.fetchall()) == 50, "guide LIMIT 50 query")

    # Typed values: a count comes back as a number.
    cur.execute("SELECT COUNT(*) AS n FROM ssot__Individual__dlm")
    (n,) = cur.fetchone()
    check(int(n) > expect, f"source individuals {n} should outnumber unified {expect}")

    # Metadata: list_tables reads /api/v1/metadata.
    tables = conn.list_tables()
    table_names = {t.name for t in tables}
    for wanted in ("ssot__Individual__dlm", "UnifiedIndividual__dlm"):
        check(wanted in table_names, f"list_tables lacks {wanted}: {sorted(table_names)[:10]}")
    one = conn.list_tables(table_name="UnifiedIndividual__dlm")
    check(len(one) == 1 and one[0].name == "UnifiedIndividual__dlm", "list_tables(table_name=...)")

    # Errors come back as the connector's exception with the server's message.
    try:
        cur.execute("SELECT nope FROM NoSuchTable__dlm")
        cur.fetchall()
    except Exception as e:  # the connector raises its own Error type
        check("NoSuchTable__dlm" in str(e), f"unknown-table error does not name the table: {e}")
    else:
        check(False, "query on an unknown table did not fail")

    print(f"cdp interop OK: {expect} rows over several batches, {len(table_names)} tables listed")
    return 0


def check(cond: bool, message: str) -> None:
    if not cond:
        print(f"cdp interop FAILED: {message}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
