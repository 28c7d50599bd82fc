//! Real containers: see the module for what runs.
