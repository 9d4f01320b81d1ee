"""Deliveries in landing/: loaded once each into the raw tables, or kept aside with a reason;
and the generator of synthetic deliveries for the demo, the tests and the benchmark."""
