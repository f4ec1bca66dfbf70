//! Property tests of the Event Hash ID algebra.
