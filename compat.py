"""What differs between Odoo 18.0 and 19.0 for this add-on, in one place:
the rest of the code reads the same on both.

- Table constraints: 19.0 declares them as ``models.Constraint`` class
  attributes and warns about ``_sql_constraints``; 18.0 knows only
  ``_sql_constraints``; the same for ``models.UniqueIndex`` (18.0: an
  index made in ``init`` and a constraint without definition that names its
  message). Models declare ``_name = Constraint(...)`` or
  ``UniqueIndex(...)`` and carry ``@table_constraints``, which makes the
  18.0 list and index from them.
- Domains: ``odoo.osv.expression`` is deprecated in 19.0 for
  ``odoo.fields.Domain``, which 18.0 does not have.
- Security groups: 18.0 files a group under an ``ir.module.category`` and
  names its members ``users``; 19.0 under a ``res.groups.privilege`` and
  ``user_ids``; server actions name their groups ``groups_id`` or
  ``group_ids``. The XML declares what both read the same, and
  ``set_up_groups`` (called from it) writes the rest.
- SQL of a boolean condition: ``(field, '=', True)`` is ``field = true``
  on 18.0 and ``field IS TRUE`` on 19.0 (``true_condition``).
- Retries: Odoo replays a request after the PostgreSQL errors of
  ``PG_CONCURRENCY_EXCEPTIONS_TO_RETRY``; 19.0 also after its
  ``ConcurrencyError`` (``RETRIED_ERRORS``).
- Tests: 19.0's HttpCase serves only its own opener's requests unless told
  otherwise (``serve_outside_clients``); new cursors wrap a test class's cursor through
  ``registry_enter_test_mode_cls`` on 19.0, ``registry.enter_test_mode`` on
  18.0 (``enter_registry_test_mode``).
- RPC: an ``@api.model`` (or ``model_create_multi``) method is marked
  ``_api = 'model'`` (``'model_create'``) on 18.0 and ``_api_model`` on 19.0
  (``is_model_method``), which decides whether call_kw passes record ids.
- Grouped reads of the web client: 18.0's pivot and graph call
  ``read_group`` once per grouping; 19.0's pivot calls
  ``formatted_read_grouping_sets`` once (``_read_grouping_sets``: every
  grouping in one query), its graph ``formatted_read_group``
  (``web_grouped_read``).
"""

from odoo import exceptions, models
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

try:  # 19.0
    from odoo.fields import Domain
    from odoo.orm.domains import DomainAnd, DomainCondition
except ImportError:  # 18.0
    Domain = DomainAnd = DomainCondition = None
    from odoo.osv import expression

ODOO_19 = hasattr(models, "Constraint")
# what Odoo's retrying() rolls back and replays a request after
RETRIED_ERRORS = PG_CONCURRENCY_EXCEPTIONS_TO_RETRY + (
    (exceptions.ConcurrencyError,) if hasattr(exceptions, "ConcurrencyError") else ()
)

if ODOO_19:
    Constraint = models.Constraint
    UniqueIndex = models.UniqueIndex

    def table_constraints(cls):
        return cls

else:

    class Constraint:
        """The 18.0 stand-in of models.Constraint."""

        def __init__(self, definition, message=""):
            self.definition = definition
            self.message = message

    class UniqueIndex(Constraint):
        """The 18.0 stand-in of models.UniqueIndex: ``definition`` is what
        follows ``CREATE UNIQUE INDEX name ON table``."""

    def table_constraints(cls):
        """Turn the Constraint and UniqueIndex attributes of a model class
        into the ``_sql_constraints`` of 18.0 (named as 19.0 names them; an
        index is a constraint without definition, which Odoo checks exists
        after ``init``, the model's own first, has made it)."""
        declared = {
            name[1:]: value
            for name, value in vars(cls).items()
            if isinstance(value, Constraint)
        }
        cls._sql_constraints = [
            (name, "" if isinstance(value, UniqueIndex) else value.definition,
             value.message)
            for name, value in declared.items()
        ]  # fmt: skip
        indexes = {
            name: value.definition
            for name, value in declared.items()
            if isinstance(value, UniqueIndex)
        }
        if indexes:
            own_init = cls.init

            def init(self):
                own_init(self)
                cr = self.env.cr
                for name, definition in indexes.items():
                    # made anew when its definition changed: its comment holds
                    # the definition it was made with, as 19.0 does
                    index = f"{self._table}_{name}"
                    cr.execute(
                        "SELECT obj_description(to_regclass(%s), 'pg_class')", [index]
                    )
                    if cr.fetchone()[0] == definition:
                        continue
                    cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
                    cr.execute(
                        SQL(
                            "CREATE UNIQUE INDEX %s ON %s %s",
                            SQL.identifier(index),
                            SQL.identifier(self._table),
                            SQL(definition),  # pylint: disable=sql-injection
                        )
                    )
                    comment = SQL(
                        "COMMENT ON INDEX %s IS %s", SQL.identifier(index), definition
                    )
                    cr.execute(comment)

            cls.init = init
        return cls


FALSE_DOMAIN = Domain.FALSE if Domain else expression.FALSE_DOMAIN
TRUE_DOMAIN = Domain.TRUE if Domain else expression.TRUE_DOMAIN


def true_condition(column):
    """The SQL of ``column`` being true as the ORM writes ``(field, '=',
    True)`` (19.0: ``IS TRUE``): the predicate of a partial index must say
    the same, or PostgreSQL does not use the index."""
    return f"{column} IS TRUE" if ODOO_19 else column


def domain_and(*domains):
    """The conjunction of ``domains``."""
    return Domain.AND(domains) if Domain else expression.AND(domains)


def domain_or(*domains):
    """The disjunction of ``domains``."""
    return Domain.OR(domains) if Domain else expression.OR(domains)


def domain_conjuncts(domain):
    """The conditions (field, operator, value) of a domain that is their
    conjunction (no '|', no '!'), or None when it is not."""
    if Domain:
        conditions = []
        pending = [Domain(domain)]
        while pending:
            node = pending.pop()
            if isinstance(node, DomainAnd):
                pending.extend(node.children)
            elif isinstance(node, DomainCondition):
                conditions.append((node.field_expr, node.operator, node.value))
            elif not node.is_true():
                return None
        return conditions
    normalized = expression.normalize_domain(domain or [])
    if any(item in ("|", "!") for item in normalized):
        return None
    return [tuple(leaf) for leaf in normalized if isinstance(leaf, list | tuple)]


def domain_conditions(domain):
    """The conditions (field, operator, value) of a domain."""
    if Domain:
        return [
            (condition.field_expr, condition.operator, condition.value)
            for condition in Domain(domain).iter_conditions()
        ]
    return [leaf for leaf in domain or () if isinstance(leaf, list | tuple)]


def group_members(group):
    """The users of a security group, also those who have it through
    another group."""
    return group.all_user_ids if ODOO_19 else group.users


def add_to_group(group, users):
    """Make ``users`` members of ``group``."""
    group.write({"user_ids" if ODOO_19 else "users": [(4, user.id) for user in users]})


def set_up_groups(env, category_xmlid, group_xmlids, admin_group_xmlid, actions):
    """File the add-on's groups under its heading in the user form, make
    the superuser and the admin user AI administrators, and restrict the
    server actions ``actions`` (xml ids) to AI administrators."""
    category = env.ref(category_xmlid)
    groups = env["res.groups"].browse(env.ref(x).id for x in group_xmlids)
    admins = env.ref("base.user_root") | env.ref("base.user_admin")
    admin_group = env.ref(admin_group_xmlid)
    if ODOO_19:
        module, name = category_xmlid.split(".")
        privilege = env.ref(f"{module}.privilege_{name}", raise_if_not_found=False)
        if not privilege:
            privilege = env["res.groups.privilege"].create(
                {"name": category.name, "category_id": category.id}
            )
        # on every install and upgrade: an xml id not declared during an upgrade
        # is deleted at its end, with its record
        env["ir.model.data"]._update_xmlids(
            [{"xml_id": f"{module}.privilege_{name}", "record": privilege}], update=True
        )
        groups.write({"privilege_id": privilege.id})
        groups_field = "group_ids"
    else:
        groups.write({"category_id": category.id})
        groups_field = "groups_id"
    add_to_group(admin_group, admins)
    for action in actions:
        env.ref(action).write({groups_field: [(6, 0, admin_group.ids)]})


def is_model_method(method):
    """Whether ``method`` is called without record ids over RPC."""
    return getattr(method, "_api_model", False) or getattr(method, "_api", None) in (
        "model",
        "model_create",
    )


def enter_registry_test_mode(case_class):
    """New cursors wrap the test class's cursor until the class ends."""
    if hasattr(case_class, "registry_enter_test_mode_cls"):
        case_class.registry_enter_test_mode_cls()
    else:
        case_class.registry.enter_test_mode(case_class.cr)
        case_class.addClassCleanup(case_class.registry.leave_test_mode)


def serve_outside_clients(case):
    """Let an HttpCase's server answer clients other than its own opener (an
    SDK pointed at it) for the rest of the test: 19.0's serves only requests
    with its test cookie, and while the test thread holds its test lock
    (``allow_requests``); 18.0's serves them all."""
    if hasattr(case, "allow_requests"):
        case.enterContext(case.allow_requests(all_requests=True))


def web_pivot_calls(domain, grouping_sets, aggregates):
    """The calls (method, keyword arguments) the web client's pivot makes
    for these headers: on 19.0 one ``formatted_read_grouping_sets``, on
    18.0 a ``read_group`` per grouping."""
    if ODOO_19:
        # it asks for the count too (18.0's read_group gives it anyway)
        aggregates = list(dict.fromkeys([*aggregates, "__count"]))
        return [
            (
                "formatted_read_grouping_sets",
                {
                    "domain": domain,
                    "grouping_sets": [list(groupby) for groupby in grouping_sets],
                    "aggregates": aggregates,
                },
            )
        ]
    return [
        (
            "read_group",
            {
                "domain": domain,
                "fields": list(aggregates),
                "groupby": list(groupby),
                "lazy": False,
            },
        )
        for groupby in grouping_sets
    ]


def web_grouped_read(model, domain, grouping_sets, aggregates, pivot=True):
    """What the web client's pivot (or graph) reads, one list of groups per
    grouping (web_pivot_calls; a graph: ``web_read_group`` on 18.0,
    ``formatted_read_group`` on 19.0, with the empty dates filled)."""
    if not pivot:
        graph = model.with_context(fill_temporal=True)
        if ODOO_19:
            return [
                graph.formatted_read_group(domain, groupby, aggregates)
                for groupby in grouping_sets
            ]
        return [
            graph.web_read_group(domain, list(aggregates), list(groupby), lazy=False)[
                "groups"
            ]
            for groupby in grouping_sets
        ]
    results = [
        getattr(model, method)(**kwargs)
        for method, kwargs in web_pivot_calls(domain, grouping_sets, aggregates)
    ]
    return results[0] if ODOO_19 else results
