//! Listings: ListObjectsV2 and ListObjectVersions walk the same sorted keys with the
//! same prefix, delimiter and page rules; an unversioned bucket's only versions are
//! the objects themselves, with version id `null` (docs/aws-behaviour.md §10).

use super::*;

/// One page of a listing.
struct Page {
    objects: Vec<(String, Arc<Object>)>,
    prefixes: Vec<String>,
    truncated: bool,
    /// The last key or common prefix on the page (the next page starts after it).
    last: Option<String>,
}

/// Walks keys under `prefix` after `after`, folding keys with a `delimiter` past the
/// prefix into common prefixes, up to `max_keys` entries.
fn walk(
    objects: &BTreeMap<String, Arc<Object>>,
    prefix: &str,
    delimiter: Option<&str>,
    after: &str,
    max_keys: usize,
) -> Page {
    let mut page = Page {
        objects: Vec::new(),
        prefixes: Vec::new(),
        truncated: false,
        last: None,
    };
    let start = if after.is_empty() { prefix } else { after };
    for (k, o) in objects.range(start.to_owned()..) {
        if !k.starts_with(prefix) {
            if k.as_str() > prefix {
                break;
            }
            continue;
        }
        if !after.is_empty() && k.as_str() <= after {
            continue;
        }
        if let Some(d) = delimiter.filter(|d| !d.is_empty())
            && let Some(pos) = k[prefix.len()..].find(d)
        {
            let cp = k[..prefix.len() + pos + d.len()].to_owned();
            if page.prefixes.last() != Some(&cp) {
                if page.objects.len() + page.prefixes.len() >= max_keys {
                    page.truncated = true;
                    break;
                }
                page.prefixes.push(cp);
            }
            page.last = Some(k.clone());
            continue;
        }
        if page.objects.len() + page.prefixes.len() >= max_keys {
            page.truncated = true;
            break;
        }
        page.objects.push((k.clone(), o.clone()));
        page.last = Some(k.clone());
    }
    page
}

fn common_prefixes(prefixes: Vec<String>) -> Option<CommonPrefixList> {
    Some(
        prefixes
            .into_iter()
            .map(|p| CommonPrefix { prefix: Some(p) })
            .collect(),
    )
}

/// The bucket owner as listings and ACLs name it.
pub(super) fn owner(s: &SimS3) -> Owner {
    Owner {
        display_name: Some("sse-bench".into()),
        id: Some(format!("sse-bench-owner-{}", s.state.config.account_id)),
    }
}

/// list objects v2.
pub(super) async fn list_objects_v2(
    s: &SimS3,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    s.op("ListObjectsV2");
    let input = req.input;
    let b = s.bucket(&input.bucket)?;
    let max_keys = page_size(input.max_keys);
    let after = input
        .continuation_token
        .clone()
        .or(input.start_after.clone())
        .unwrap_or_default();
    let page = walk(
        &b.objects.read(),
        input.prefix.as_deref().unwrap_or_default(),
        input.delimiter.as_deref(),
        &after,
        max_keys,
    );
    let contents = page
        .objects
        .into_iter()
        .map(|(k, o)| s3s::dto::Object {
            key: Some(k),
            size: Some(o.size as i64),
            e_tag: Some(quoted(&o.etag)),
            last_modified: Some(timestamp(o.last_modified)),
            storage_class: Some(ObjectStorageClass::from_static(
                ObjectStorageClass::STANDARD,
            )),
            ..Default::default()
        })
        .collect::<Vec<_>>();
    let key_count = (contents.len() + page.prefixes.len()) as i32;
    Ok(S3Response::new(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: input.prefix,
        delimiter: input.delimiter,
        max_keys: Some(max_keys as i32),
        key_count: Some(key_count),
        is_truncated: Some(page.truncated),
        continuation_token: input.continuation_token,
        next_continuation_token: if page.truncated { page.last } else { None },
        start_after: input.start_after,
        contents: Some(contents),
        common_prefixes: common_prefixes(page.prefixes),
        ..Default::default()
    }))
}

/// list object versions: in an unversioned bucket, each object is its only version,
/// `null`, and the latest; there are no delete markers.
pub(super) async fn list_object_versions(
    s: &SimS3,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    s.op("ListObjectVersions");
    let input = req.input;
    let b = s.bucket(&input.bucket)?;
    if let Some(v) = input.version_id_marker.as_deref().filter(|v| !v.is_empty())
        && input.key_marker.as_deref().unwrap_or_default().is_empty()
    {
        return Err(invalid_argument(format!(
            "A version-id marker cannot be specified without a key marker: {v}"
        )));
    }
    let max_keys = page_size(input.max_keys);
    let page = walk(
        &b.objects.read(),
        input.prefix.as_deref().unwrap_or_default(),
        input.delimiter.as_deref(),
        input.key_marker.as_deref().unwrap_or_default(),
        max_keys,
    );
    let versions = page
        .objects
        .into_iter()
        .map(|(k, o)| ObjectVersion {
            key: Some(k),
            version_id: Some(NULL_VERSION.into()),
            is_latest: Some(true),
            size: Some(o.size as i64),
            e_tag: Some(quoted(&o.etag)),
            last_modified: Some(timestamp(o.last_modified)),
            owner: Some(owner(s)),
            storage_class: Some(ObjectVersionStorageClass::from_static(
                ObjectVersionStorageClass::STANDARD,
            )),
            ..Default::default()
        })
        .collect();
    let next = page.truncated.then_some(page.last).flatten();
    Ok(S3Response::new(ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: input.prefix,
        delimiter: input.delimiter,
        key_marker: input.key_marker,
        version_id_marker: input.version_id_marker,
        max_keys: Some(max_keys as i32),
        is_truncated: Some(page.truncated),
        next_version_id_marker: next.as_ref().map(|_| NULL_VERSION.into()),
        next_key_marker: next,
        versions: Some(versions),
        common_prefixes: common_prefixes(page.prefixes),
        ..Default::default()
    }))
}
