-- One row: the business date the exception queues are judged at (var as_of_date, else the
-- latest day with activity in the sources; macro governance_as_of_date).
{{ governance_as_of_date() }}
