"""Peer review of moderators (issue 17): a weighted scorecard, weekly assignments of
other moderators' resolved rooms, reviews kept as records of their own (never in a
room's transcript), and a report per moderator, criterion and ISO week.

`assignment` is pure (who reviews which room, the weighted score); `schema` and
`store` keep the tables; `scheduler` assigns each week on every process.
"""
