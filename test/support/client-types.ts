import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import type { OpenAPI3 } from 'openapi-typescript';
import { format, resolveConfig } from 'prettier';

/**
 * TypeScript types for an OpenAPI document, as openapi-typescript writes them, formatted as the
 * repository is (so the checked-in copy passes `prettier --check`).
 */
export async function generateClientTypes(document: unknown, file: string): Promise<string> {
  const ast = await openapiTS(document as OpenAPI3, { exportType: true });
  const source = `${COMMENT_HEADER}${astToString(ast)}`;
  const config = await resolveConfig(file);
  return format(source, { ...config, filepath: file });
}
