export * from '../../tools/wait-for';
