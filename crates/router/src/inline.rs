//! [`InlineVec`]: a list whose first `N` items live inline, for the per-request scratch lists
//! of a lookup (candidate rules, captures, the `Allow` header's text).
//!
//! A lookup needs a few short lists and drops them when it returns. With a `Vec` each one was a
//! heap allocation per request; here the common case (at most `N` items) stays on the stack,
//! and a longer list moves to the heap and goes on working, so the capacity only changes speed,
//! never behaviour. Items are `Copy` (`u32` ids, `&str` slices, bytes), so no `unsafe` is
//! needed: the inline array is filled with `T::default()` up front.

use std::ops::{Deref, DerefMut};

/// The captures of one path match. Six stay inline, the most path arguments a
/// [`Handler`](crate::Handler) takes, so matching never allocates for them. They live here,
/// not with the rules or the matchers, because both the rule and the fast matcher fill them:
/// keeping them apart from both lets neither module import the other.
pub(crate) type Captures<'p> = InlineVec<&'p str, 6>;

/// A list of `Copy` items kept inline up to `N`, on the heap past it.
#[derive(Debug, Clone)]
pub(crate) struct InlineVec<T, const N: usize> {
    /// The items are `inline[..len]` while `heap` is empty.
    len: usize,
    inline: [T; N],
    /// Every item, once more than `N` were added; never empty then (items are only added,
    /// or all cleared).
    heap: Vec<T>,
}

impl<T: Copy + Default, const N: usize> InlineVec<T, N> {
    /// An empty list; allocates nothing.
    #[inline]
    pub(crate) fn new() -> Self {
        Self {
            len: 0,
            inline: [T::default(); N],
            heap: Vec::new(),
        }
    }

    /// Appends `item`.
    #[inline]
    pub(crate) fn push(&mut self, item: T) {
        self.extend_from_slice(&[item]);
    }

    /// Appends `items`, in order.
    #[inline]
    pub(crate) fn extend_from_slice(&mut self, items: &[T]) {
        if self.heap.is_empty() {
            let end = self.len + items.len();
            if let Some(free) = self.inline.get_mut(self.len..end) {
                free.copy_from_slice(items);
                self.len = end;
                return;
            }
            // Past the inline capacity: move everything to the heap, with room to grow.
            self.heap.reserve(end.max(2 * N));
            self.heap.extend_from_slice(&self.inline[..self.len]);
        }
        self.heap.extend_from_slice(items);
    }

    /// Removes every item (a heap buffer, if any, is kept for reuse).
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.heap.clear();
    }
}

impl<T: Copy + Default, const N: usize> Default for InlineVec<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> Deref for InlineVec<T, N> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        if self.heap.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }
}

impl<T, const N: usize> DerefMut for InlineVec<T, N> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        if self.heap.is_empty() {
            &mut self.inline[..self.len]
        } else {
            &mut self.heap
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation agrees with a `Vec`, below, at and past the inline capacity.
    #[test]
    fn behaves_like_a_vec_across_the_inline_capacity() {
        let mut list = InlineVec::<u32, 4>::new();
        let mut expected = Vec::new();
        for round in 0..3 {
            for item in 0..11 {
                if item % 3 == 0 {
                    let items = [item, item + 100];
                    list.extend_from_slice(&items);
                    expected.extend_from_slice(&items);
                } else {
                    list.push(item);
                    expected.push(item);
                }
                list.extend_from_slice(&[]);
                assert_eq!(&*list, &expected[..], "round {round} item {item}");
            }
            list.sort_unstable_by(|a, b| b.cmp(a));
            expected.sort_unstable_by(|a, b| b.cmp(a));
            assert_eq!(&*list, &expected[..]);
            list.clear();
            expected.clear();
            assert!(list.is_empty());
        }
    }

    #[test]
    fn one_slice_larger_than_the_inline_capacity() {
        let mut list = InlineVec::<&str, 2>::new();
        list.push("a");
        list.extend_from_slice(&["b", "c", "d"]);
        assert_eq!(&*list, ["a", "b", "c", "d"]);
        let mut fresh = InlineVec::<&str, 2>::default();
        fresh.extend_from_slice(&["x", "y", "z"]);
        assert_eq!(&*fresh, ["x", "y", "z"]);
        fresh.clear();
        fresh.push("w");
        assert_eq!(&*fresh, ["w"]);
    }

    #[test]
    fn stays_inline_up_to_the_capacity() {
        let mut list = InlineVec::<u8, 3>::new();
        list.extend_from_slice(b"ab");
        list.push(b'c');
        assert_eq!(&*list, b"abc");
        assert_eq!(list.heap.capacity(), 0, "no heap buffer below the capacity");
        list.push(b'd');
        assert_eq!(&*list, b"abcd");
        assert!(list.heap.capacity() >= 6);
    }
}
