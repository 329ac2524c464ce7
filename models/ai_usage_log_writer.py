import threading
from collections import OrderedDict

from odoo import api, fields, models
from odoo.exceptions import MissingError
from odoo.tools import SQL

# What finishing a call needs to know of its start (company_currency_id: the
# currency of the log's company), as SQL on ai_usage_log.
FACTS = ("request_time", "model", "service_id", "company_id", "company_currency_id")
FACTS_COLUMNS = SQL(
    "request_time, model, service_id, company_id, (SELECT currency_id"
    " FROM res_company WHERE res_company.id = ai_usage_log.company_id)"
)


class _StartedCalls:
    """The facts of the calls this process started and has not finished:
    finishing a call then needs no query to read them back. Bounded; a call
    finished elsewhere (another worker, after a restart) reads them."""

    def __init__(self, size=10_000):
        self.size = size
        self.facts = OrderedDict()
        self.lock = threading.Lock()

    def put(self, key, facts):
        with self.lock:
            self.facts[key] = facts
            while len(self.facts) > self.size:
                self.facts.popitem(last=False)

    def take(self, key):
        with self.lock:
            return self.facts.pop(key, None)


_started_calls = _StartedCalls()


def error_rate_of(status):
    """100 for a failed call, 0 otherwise: its average is the error rate."""
    return 100.0 if status == "failed" else 0.0


class AiUsageLogWriter(models.AbstractModel):
    """How a usage log is written: always in a transaction of its own,
    committed at once, so that a log outlives whatever happens to the
    caller's transaction. Every call writes twice (its start, then its end),
    so these two writes are single SQL statements built with the fields' own
    conversions."""

    _name = "ai.usage.log.writer"
    _description = "AI Usage Log Writer"

    def _in_own_transaction(self, operation, read_committed=False):
        """Run ``operation(log_model)`` in a new cursor that is committed on
        return; ``log_model`` is this model, as superuser, in that cursor.

        ``read_committed``: each statement sees what others committed before
        it, even after waiting for a lock (limit checks need that; Odoo's
        REPEATABLE READ would keep the snapshot taken before the wait)."""
        with self.env.registry.cursor() as cr:
            if read_committed and not self.env.registry.in_test_mode():
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            env = api.Environment(cr, self.env.uid, self.env.context, su=True)
            result = operation(env[self._name])
        # The caller's cache predates the new rows (visible to it in test mode).
        self.env[self._name].invalidate_model()
        self.env["ai.service"].invalidate_model(
            ["usage_count", "error_count", "last_used", "total_tokens", "total_cost"]
        )
        return result

    def _column_values(self, vals):
        if "status" in vals:  # the SQL writes below skip the ORM's computes
            vals = dict(vals, error_rate=error_rate_of(vals["status"]))
        return {
            name: self._fields[name].convert_to_column(value, self, vals)
            for name, value in vals.items()
        }

    @api.model
    def _sql_insert(self, vals):
        now = fields.Datetime.now()
        row = self._column_values(vals)
        row.update(
            create_uid=self.env.uid,
            write_uid=self.env.uid,
            create_date=now,
            write_date=now,
        )
        # The row of a call that starts only marks it as started, and is made
        # durable by the synchronous commit that finishes the call: its own
        # commit need not wait for the disk. Others see it at once; only a
        # crash of PostgreSQL itself within a fraction of a second could lose
        # it, and then the end of the call records the call anew.
        started = vals.get("status") == "processing"
        self.env.cr.execute(
            SQL(
                "%s INSERT INTO %s (%s) VALUES %s RETURNING id, %s",
                SQL("SET LOCAL synchronous_commit TO OFF;" if started else ""),
                SQL.identifier(self._table),
                SQL(", ").join(SQL.identifier(name) for name in row),
                tuple(row.values()),
                FACTS_COLUMNS,
            )
        )
        log_id, *facts = self.env.cr.fetchone()
        if started:  # a call that will be finished
            _started_calls.put(
                (self.env.cr.dbname, log_id), dict(zip(FACTS, facts, strict=True))
            )
        return log_id

    @api.model
    def _sql_update(self, log_id, vals):
        row = self._column_values(vals)
        row.update(write_uid=self.env.uid, write_date=fields.Datetime.now())
        self.env.cr.execute(
            SQL(
                "UPDATE %s SET %s WHERE id = %s",
                SQL.identifier(self._table),
                SQL(", ").join(
                    SQL("%s = %s", SQL.identifier(name), value)
                    for name, value in row.items()
                ),
                log_id,
            )
        )
        if not self.env.cr.rowcount:
            raise MissingError(self.env._("The usage log %s does not exist.", log_id))

    @api.model
    def _call_facts(self, log_id):
        """What finishing a log needs to know of its call: remembered when
        this process started it, else read in one query."""
        facts = _started_calls.take((self.env.cr.dbname, log_id))
        if facts:
            return facts
        self.env.cr.execute(
            SQL(
                "SELECT %s FROM %s WHERE id = %s",
                FACTS_COLUMNS,
                SQL.identifier(self._table),
                log_id,
            )
        )
        row = self.env.cr.fetchone()
        if not row:
            raise MissingError(self.env._("The usage log %s does not exist.", log_id))
        return dict(zip(FACTS, row, strict=True))
