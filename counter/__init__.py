"""Programs that run on the counters (clients of the box): enrolment, the demo."""
