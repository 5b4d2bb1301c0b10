"""SLA policies: the response clocks' targets per ticket priority (issue 16).

A row of `sla_policies` per priority overrides the three deployment-wide
settings (MEDIATION_FIRST_RESPONSE_TARGET, _ANSWER_TARGET, _REPLY_TARGET),
which stay the targets of every priority without a row. Each process keeps
the rows in memory (`policies.Policies`): the commit path asks it a room's
targets with a dictionary lookup, never a query. The cache is re-read every
clock tick, and at once by the process that changed it; whenever a re-read
finds a priority's targets changed, that process re-times the open rooms of
that priority (`retiming`), so a shorter target is not missed by the
scheduler that polls the rooms' `due_at` column.
"""
