//! Overview panels of the plan (lifecycle stage, parties, managers, review cadence); filled in next.
