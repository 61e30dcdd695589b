// Positive fixture for `map_linear_scan`.
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

struct Registry {
    // path → handle: the loader's open-file table.
    handles: Mutex<HashMap<PathBuf, Handle>>,
    by_name: BTreeMap<String, usize>,
}

impl Registry {
    // The real-loader shape: `find` over a map of path → handle.
    fn lookup(&self, path: &Path) -> Option<Handle> {
        let handles = self.handles.lock().unwrap();
        handles.iter().find(|(p, _)| p.as_path() == path).map(|(_, h)| h.clone()) //~ map_linear_scan
    }

    fn has(&self, name: &str) -> bool {
        self.by_name.keys().any(|k| k == name) //~ map_linear_scan
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.iter().position(|(k, _)| *k == name) //~ map_linear_scan
    }

    fn loop_lookup(&self, name: &str) -> Option<usize> {
        for (k, v) in &self.by_name { //~ map_linear_scan
            if k == name {
                return Some(*v);
            }
        }
        None
    }
}

fn local_map(name: &str) -> bool {
    let mut tensors = HashMap::new();
    tensors.insert("a".to_owned(), 1);
    tensors.iter().find(|entry| entry.0 == name).is_some() //~ map_linear_scan
}
