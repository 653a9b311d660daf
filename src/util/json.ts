/** Reading a JSON file the project wrote (or a user gave): one clear line when it is missing or damaged. */
import { promises as fs, readFileSync } from 'node:fs';
import { UserError } from './errors.js';

function parse<T>(file: string, text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UserError(`${file}: ${what} is not valid JSON (${(e as Error).message.split('\n')[0]}); the file is damaged or truncated`);
  }
}

export async function readJsonFile<T>(file: string, what = 'the file'): Promise<T> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parse<T>(file, text, what);
}

export function readJsonFileSync<T>(file: string, what = 'the file'): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parse<T>(file, text, what);
}
