//! A stateful fake of the Rescale REST API (being written).
