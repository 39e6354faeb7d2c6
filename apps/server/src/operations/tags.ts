import { KmsError } from '@kmsgate/core';

/**
 * AWS's per-key tag limit: 51 tags on CreateKey is TagException "Too many tags" (AWS-recorded,
 * LocalStack snapshot test_create_key_with_too_many_tags_raises_error). kmsgate applies the same
 * limit, with the same answer, to the tags a key would have after TagResource.
 */
export const MAX_TAGS_PER_KEY = 50;

/**
 * The tag rules beyond the member constraints, in the order LocalStack's AWS-validated tests show
 * them: duplicate keys, too many tags, then the reserved `aws:` prefix (any case: "AWS:key1" is
 * refused too, AWS-recorded). All three texts are AWS-recorded.
 */
export function checkTags(tags: readonly { TagKey: string }[]): void {
  if (new Set(tags.map((t) => t.TagKey)).size !== tags.length) throw new KmsError('TagException', 'Duplicate tag keys');
  if (tags.length > MAX_TAGS_PER_KEY) throw tooManyTags();
  if (tags.some((t) => t.TagKey.toLowerCase().startsWith('aws:'))) throw new KmsError('TagException', 'Tags beginning with aws: are reserved');
}

export function tooManyTags(): KmsError {
  return new KmsError('TagException', 'Too many tags');
}
