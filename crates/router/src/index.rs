//! The literal-prefix index: a radix tree from each rule's literal prefix to the rule's id.
//!
//! A rule can only match a path that starts with its literal prefix (the text before its first
//! placeholder), and a rule without placeholders only the path equal to it. Walking the path
//! down the tree once collects exactly those candidates, so a lookup costs one walk over the
//! path plus the few candidates, not one regex per registered rule. Candidates come back sorted
//! by id, which is registration order, so "first registered match wins" still holds.

use crate::inline::InlineVec;

/// Rule ids are registration indexes.
pub(crate) type RuleIndex = u32;

/// The candidates of one lookup: up to 16 stay inline (no allocation), more spill to the heap.
pub(crate) type Candidates = InlineVec<RuleIndex, 16>;

#[derive(Debug, Default, Clone)]
pub(crate) struct PrefixIndex {
    root: Node,
}

#[derive(Debug, Default, Clone)]
struct Node {
    /// The bytes on the edge from the parent; empty only for the root.
    label: Box<[u8]>,
    /// Children, sorted by the first byte of their label (unique per node).
    children: Vec<Node>,
    /// Rules with placeholders whose literal prefix ends here.
    prefixed: Vec<RuleIndex>,
    /// Rules without placeholders whose whole pattern ends here.
    exact: Vec<RuleIndex>,
}

impl PrefixIndex {
    /// Indexes rule `id`. `exact` rules match only `key` itself; the others match any path
    /// that starts with `key`.
    pub(crate) fn insert(&mut self, key: &str, id: RuleIndex, exact: bool) {
        let mut node = &mut self.root;
        let mut rest = key.as_bytes();
        loop {
            if rest.is_empty() {
                if exact {
                    node.exact.push(id);
                } else {
                    node.prefixed.push(id);
                }
                return;
            }
            let slot = node
                .children
                .binary_search_by_key(&rest[0], |child| child.label[0]);
            let index = match slot {
                Ok(index) => index,
                Err(index) => {
                    let mut leaf = Node {
                        label: rest.into(),
                        ..Node::default()
                    };
                    if exact {
                        leaf.exact.push(id);
                    } else {
                        leaf.prefixed.push(id);
                    }
                    node.children.insert(index, leaf);
                    return;
                }
            };
            let child = &mut node.children[index];
            let common = common_prefix(&child.label, rest);
            if common < child.label.len() {
                split(child, common);
            }
            rest = &rest[common..];
            node = &mut node.children[index];
        }
    }

    /// Appends to `out` the ids of every rule that could match `path`, in no particular order.
    pub(crate) fn candidates(&self, path: &str, out: &mut Candidates) {
        let mut node = &self.root;
        let mut rest = path.as_bytes();
        loop {
            // Most nodes on the way hold no rule: skip the copy for them.
            if !node.prefixed.is_empty() {
                out.extend_from_slice(&node.prefixed);
            }
            let Some(&first) = rest.first() else {
                if !node.exact.is_empty() {
                    out.extend_from_slice(&node.exact);
                }
                return;
            };
            let Ok(index) = node
                .children
                .binary_search_by_key(&first, |child| child.label[0])
            else {
                return;
            };
            let child = &node.children[index];
            if !rest.starts_with(&child.label) {
                return;
            }
            rest = &rest[child.label.len()..];
            node = child;
        }
    }
}

/// Splits `node`'s edge after `at` bytes: `node` keeps the head, a new child the tail.
fn split(node: &mut Node, at: usize) {
    let tail = Node {
        label: node.label[at..].into(),
        children: std::mem::take(&mut node.children),
        prefixed: std::mem::take(&mut node.prefixed),
        exact: std::mem::take(&mut node.exact),
    };
    node.label = node.label[..at].into();
    node.children = vec![tail];
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(index: &PrefixIndex, path: &str) -> Vec<RuleIndex> {
        let mut out = Candidates::new();
        index.candidates(path, &mut out);
        out.sort_unstable();
        out.to_vec()
    }

    #[test]
    fn collects_prefixes_and_exact_keys() {
        let mut index = PrefixIndex::default();
        let keys = [
            ("/", true),            // 0
            ("/user/", false),      // 1
            ("/user/", true),       // 2
            ("/users", true),       // 3
            ("/u", false),          // 4
            ("/query", true),       // 5
            ("/query/", false),     // 6
            ("/", false),           // 7
            ("/img/faces/", false), // 8
            ("/user/", false),      // 9
            ("/usex", true),        // 10
        ];
        for (id, (key, exact)) in keys.iter().enumerate() {
            index.insert(key, id as RuleIndex, *exact);
        }
        let table: &[(&str, &[RuleIndex])] = &[
            ("/", &[0, 7]),
            ("/user/", &[1, 2, 4, 7, 9]),
            ("/user/42", &[1, 4, 7, 9]),
            ("/users", &[3, 4, 7]),
            ("/usex", &[4, 7, 10]),
            ("/use", &[4, 7]),
            ("/query", &[5, 7]),
            ("/query/1", &[6, 7]),
            ("/img/faces/1-image.jpg", &[7, 8]),
            ("/img/face", &[7]),
            ("", &[]),
            ("x", &[]),
        ];
        for (path, expected) in table {
            assert_eq!(sorted(&index, path), *expected, "path {path:?}");
        }
    }

    #[test]
    fn splits_inside_multibyte_text() {
        let mut index = PrefixIndex::default();
        index.insert("/é", 0, true);
        index.insert("/è", 1, true);
        assert_eq!(sorted(&index, "/é"), [0]);
        assert_eq!(sorted(&index, "/è"), [1]);
        assert_eq!(sorted(&index, "/e"), Vec::<RuleIndex>::new());
    }
}
