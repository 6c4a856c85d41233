"""Chat refinement: a session of takes on one cover (session) and what each message asks of the plan
(refine)."""
