//! The git port: reading the runner's checkout (trees, blobs, diffs) with gix,
//! so diffs and files cost no API budget.
