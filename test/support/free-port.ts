export * from '../../tools/free-port';
