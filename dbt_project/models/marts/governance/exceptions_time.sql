-- Time exceptions: time_not_posted, time_on_closed_project.
-- The shared queue shape; open and resolved rows of the exception register.
{{ governance_area_mart('time') }}
