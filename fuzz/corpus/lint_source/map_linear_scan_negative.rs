// Negative fixture for `map_linear_scan`.
use std::collections::HashMap;

struct Registry {
    handles: HashMap<PathBuf, Handle>,
    order: Vec<PathBuf>,
}

impl Registry {
    // Direct lookups.
    fn lookup(&self, path: &Path) -> Option<&Handle> {
        self.handles.get(path)
    }

    // A search by value: a map cannot do better.
    fn path_of(&self, handle: &Handle) -> Option<&PathBuf> {
        self.handles.iter().find(|(_, h)| *h == handle).map(|(p, _)| p)
    }

    // A search by a property of the key that is not equality.
    fn under(&self, dir: &Path) -> bool {
        self.handles.keys().any(|k| k.starts_with(dir))
    }

    // A Vec, not a map.
    fn position(&self, path: &Path) -> Option<usize> {
        self.order.iter().position(|p| p == path)
    }
}
