"""SignUpFlow onboarding domain package: one module per concept, shared by every Lambda function.

Dependencies point one way: functions/<area>/app.py -> `api` (HTTP glue, the request's unit of work)
-> the domain modules (`wizard`, `sample_data`, `checklist`, `tutorials`, `client_metrics`, `export`,
`analytics`, `purge`, `host_events`, `start`) -> `state`, `features`, `counters`, `metrics`, `outbox` ->
`db`, `tables` and `host_tables`. The publisher (`publisher`, EventBridge) is loaded only where events
are sent.

The service reads and writes its tables only in Core statements, so it uses Core tables (`tables`,
`host_tables`) and maps no ORM class: a mapped class costs about four times a Core table at a cold
start. The ORM classes over the same tables (`models_*`, gathered by `models`) are for migrations, the
tests and the tools. Each function imports only the modules its routes use
(`tests/test_function_imports.py`); bench/README.md, "Cold start", has the figures.

How a request reads and writes:

- **One unit of work per request** (`db.unit_of_work`, opened by `api` around every route and by the
  event-driven functions): one transaction; the domain events staged on its session (`outbox.stage`)
  are written with one INSERT just before COMMIT and published after it.
- **Reading the onboarding state** is one SELECT (`state.load`): the row, `now()` and the counters and
  columns the caller asks for (`state.Reading`), the row optionally locked (`FOR UPDATE`).
- **Changing state: one way per kind of change**, each one statement that carries the metrics it
  emits (`metrics.record_with`, a data-modifying CTE), never an ORM flush (the service maps no class):
  - *a row the request holds locked* (the organization's `onboarding_state`, a tutorial record): read
    it as a frozen record, make the new record with `dataclasses.replace`, write the columns that
    differ with one UPDATE (`state.save`; `tutorials._save`);
  - *creating a row once*: `INSERT ... ON CONFLICT` (`start.start_onboarding`; the tutorial record,
    which the same upsert locks);
  - *a value merged without a lock* (the checklist's progress): a compare-and-swap UPDATE that
    matches only the value read, retried on a race (`checklist`);
  - *many organizations at once* (clearing sample data, a purge batch): set-based UPDATE and DELETE
    statements over all of them (`sample_clearing.clear_locked_organizations`).
- **Client input** is validated by pydantic models before a domain function runs; a 422's details
  are built by `field_errors.field_error` (field, reason, type).
"""
